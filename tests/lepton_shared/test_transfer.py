import warnings

import pytest
import torch
from torch import nn

from lepton_shared.errors import UserError
from lepton_shared.transfer import (
    TEXT_DIM,
    freeze,
    load_text_encoder,
    mean_pool,
    param_groups,
    unfreeze,
    vision_backbone,
)


def test_offline_text_encoder_embeds_similar_sentences_closer() -> None:
    tokenizer, model = load_text_encoder()
    texts = ["I lost my credit card", "my card is missing", "what is the weather in Paris"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        emb = mean_pool(model(**batch).last_hidden_state, batch["attention_mask"])
    assert emb.shape == (3, TEXT_DIM)
    emb = nn.functional.normalize(emb, dim=1)
    assert float(emb[0] @ emb[1]) > float(emb[0] @ emb[2]) + 0.2


def test_vision_backbone_random_init_warns_and_replaces_head(tmp_path) -> None:
    with pytest.warns(UserWarning, match="random weights"):
        model = vision_backbone("resnet18", num_classes=3, in_channels=1)
    assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = vision_backbone("resnet18", num_classes=1000)
    path = tmp_path / "w.pt"
    torch.save(source.state_dict(), path)
    loaded = vision_backbone("resnet18", num_classes=2, weights_path=path)
    assert torch.equal(loaded.conv1.weight, source.conv1.weight)
    with pytest.raises(UserError, match="not found"):
        vision_backbone("resnet18", weights_path=tmp_path / "missing.pt")
    with pytest.raises(UserError, match="unknown backbone"):
        vision_backbone("vgg0")


def test_freeze_and_param_groups() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    freeze(model[0])
    groups = param_groups(model, {"1.": 1e-2}, default_lr=1e-4)
    assert [g["lr"] for g in groups] == [1e-2] and len(groups[0]["params"]) == 2
    unfreeze(model)
    groups = param_groups(model, {"1.": 1e-2}, default_lr=1e-4)
    assert sorted(g["lr"] for g in groups) == [1e-4, 1e-2]
