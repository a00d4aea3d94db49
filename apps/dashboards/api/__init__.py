"""JSON the pages' charts read that no other app's API answers: public, read scope, /api/v1/.

Each module of this package contributes its `urlpatterns` (found by listing the package).
"""
