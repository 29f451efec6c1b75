"""The imaging app's identity and quick-run settings (see ``lepton_shared.manifest``)."""

from lepton_shared.manifest import AppManifest, Resources

MANIFEST = AppManifest(
    name="imaging",
    title="Medical imaging",
    summary="medical image diagnosis with calibrated probabilities, heat maps and an audit trail",
    key_metric="roc_auc",
    higher_is_better=True,
    port=8102,
    icon=":material/radiology:",
    audience="radiology and clinical teams",
    first_try="click an example study on the first tab and read its decision, probability and heat map; then "
              "upload your own X-ray (PNG, DICOM or NIfTI)",
    tiny_train_args=("--tiny", "--epochs", "1"),
    micro_batch=True,
    resources=Resources("500m", "1536Mi", "2", "3Gi"),
)
