"""The fraud app's identity and quick-run settings (see ``lepton_shared.manifest``)."""

from lepton_shared.manifest import AppManifest

MANIFEST = AppManifest(
    name="fraud",
    title="Payment fraud",
    summary="real-time payment fraud scoring with reason codes, cost-based decisions and a review queue",
    key_metric="average_precision",
    higher_is_better=True,
    port=8104,
    icon=":material/credit_card:",
    audience="payment risk analysts",
    first_try="score a transaction on the first tab, read why, then mark it in the Review queue",
    tiny_train_args=("--tiny", "--epochs", "1"),
    tiny_evaluate_args=("--tiny",),
)
