"""The recommender's identity and quick-run settings (see ``lepton_shared.manifest``)."""

from lepton_shared.manifest import AppManifest

MANIFEST = AppManifest(
    name="recommender",
    title="Recommender",
    summary="product recommendations from implicit feedback, similar items, cold start",
    key_metric="ndcg_at_10",
    higher_is_better=True,
    port=8103,
    icon=":material/thumb_up:",
    audience="e-commerce and merchandising teams",
    first_try="click a sample customer and compare their history with their recommendations and the reasons",
    tiny_train_args=("--tiny", "--epochs", "1"),
)
