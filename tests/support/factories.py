from __future__ import annotations

from factory.declarations import Sequence
from factory.django import DjangoModelFactory

from contacts.models import Contact


class ContactFactory(DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    email = Sequence(lambda n: f"person{n}@example.com")
    first_name = "Grace"
    last_name = "Hopper"
