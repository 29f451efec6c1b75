from lepton_shared.testing.contract import AppContract


class TestChatbotContract(AppContract):
    app_name = "chatbot"
    train_argv = ["--epochs", "1", "--tiny"]
