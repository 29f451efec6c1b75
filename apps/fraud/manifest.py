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
    first_try="replay the simulated stream, then mark an alert in the Review queue; or score a payment of your own",
    tiny_train_args=("--tiny", "--epochs", "1"),
    tiny_evaluate_args=("--tiny",),
)
