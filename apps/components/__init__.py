"""Small Streamlit pieces shared by the demo pages; no model code lives here."""
