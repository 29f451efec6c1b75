"""The Streamlit suite: the home page plus navigation to every app's page."""
