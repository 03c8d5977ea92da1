"""Domain B of the framework (see app_pages/domain_view.py)."""

from app_pages.domain_view import show_domain

show_domain("B")
