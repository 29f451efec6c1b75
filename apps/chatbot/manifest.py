"""The chatbot's identity and quick-run settings (see ``lepton_shared.manifest``)."""

from lepton_shared.manifest import AppManifest, Resources

MANIFEST = AppManifest(
    name="chatbot",
    title="Customer-service chatbot",
    summary="customer-service assistant: intents, FAQ answers, out-of-scope fallback, handoff",
    key_metric="accuracy",
    higher_is_better=True,
    port=8101,
    icon=":material/chat:",
    audience="support teams answering customers in chat",
    first_try="click a suggested message on the Chat tab, an out-of-scope one, then one asking for a person, and "
              "see the handoff in the Agent queue",
    tiny_train_args=("--tiny", "--epochs", "1"),
    micro_batch=True,
    resources=Resources("500m", "1Gi", "2", "2Gi"),
)
