from lepton_shared.testing.contract import AppContract


class TestImagingContract(AppContract):
    app_name = "imaging"
    train_argv = ["--epochs", "1", "--tiny"]
