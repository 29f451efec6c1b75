from lepton_shared.testing.contract import AppContract


class TestRecommenderContract(AppContract):
    app_name = "recommender"
    train_argv = ["--epochs", "1", "--tiny"]
