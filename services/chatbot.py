from apps.chatbot.app import APP

app = APP.create_service()
