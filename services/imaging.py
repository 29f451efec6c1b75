from apps.imaging.app import APP

app = APP.create_service()
