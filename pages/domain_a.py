"""Domain A of the framework (see pages/domain_view.py)."""

from pages.domain_view import show_domain

show_domain("A")
