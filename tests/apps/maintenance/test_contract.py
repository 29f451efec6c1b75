from lepton_shared.testing.contract import AppContract


class TestMaintenanceContract(AppContract):
    app_name = "maintenance"
    train_argv = ["--epochs", "1", "--tiny", "--rl-steps", "1024", "--episodes", "2"]
    evaluate_argv = ["--tiny", "--episodes", "2"]
