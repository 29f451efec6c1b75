from lepton_shared.testing.contract import AppContract


class TestFraudContract(AppContract):
    app_name = "fraud"
    train_argv = ["--epochs", "1", "--tiny"]
    evaluate_argv = ["--tiny"]
