from apps.fraud.app import APP

app = APP.create_service()
