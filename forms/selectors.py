from __future__ import annotations

from forms.models import Form


def form_get_published(*, form_id: int, include_drafts: bool = False) -> Form | None:
    forms = Form.objects.prefetch_related("fields").filter(pk=form_id)
    if not include_drafts:
        forms = forms.filter(published=True)
    return forms.first()
