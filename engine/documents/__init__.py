"""Formal documents (公文) the procedure sends to other bodies: generated from .docx templates, numbered."""
