from apps.recommender.app import APP

app = APP.create_service()
