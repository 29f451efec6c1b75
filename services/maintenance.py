from apps.maintenance.app import APP

app = APP.create_service()
