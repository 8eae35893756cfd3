"""The complainant's contact data — contact person, phone, address — as one viewer may see it.

Shown in full only where `view_contact_data` allows (engine.org.permissions: the provincial DRC, intake
officials and the departments handling the case, never the respondent nor administrators), and every such view
is an audit event (`view_contact`: who, when, from which address, which case, through what). Everyone else gets
the masked form. Pages, the API and any export take the contact data from here, never from the complaint row.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import Complaint
from engine.org import permissions
from engine.org.models import Official

CONTACT_FIELDS = ("contact_person", "contact_phone", "contact_address", "contact_email")
MASKED_NOTE = "联系方式已隐去：仅省发展改革委、受理登记人员和承办部门可以查看"


@dataclass(frozen=True)
class Contact:
    contact_person: str
    contact_phone: str
    contact_address: str | None
    contact_masked: bool
    contact_email: str | None = None

    def as_dict(self) -> dict[str, str | bool | None]:
        return asdict(self)


def contact_of(session: Session, complaint: Complaint, viewer: Official | None, via: str) -> Contact:
    """The contact data for `viewer`: in full (the view is audited, `via` says where: case_page, api, export)
    or masked. The caller commits."""
    if permissions.allowed(viewer, permissions.VIEW_CONTACT_DATA, complaint):
        audit(session, "view_contact", viewer, "complaint", complaint.id, complaint_id=complaint.id,
              after={"via": via})
        return Contact(complaint.contact_person, complaint.contact_phone, complaint.contact_address, False,
                       complaint.contact_email)
    return masked(complaint)


def masked(complaint: Complaint) -> Contact:
    return Contact(mask_name(complaint.contact_person), mask_phone(complaint.contact_phone),
                   mask_address(complaint.contact_address), True, mask_email(complaint.contact_email))


def mask_name(name: str | None) -> str:
    """李明 → 李*: the family name stays, so a colleague can still say "the complainant's Mr Li"."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str | None) -> str:
    """13888001234 → 138********: only the carrier prefix or area code. The last four digits stay hidden too:
    with the tracking code they open the public tracking page."""
    phone = (phone or "").strip()
    return phone[:3] + "*" * max(len(phone) - 3, 4) if phone else ""


def mask_email(email: str | None) -> str | None:
    """liming@example.com → l***@example.com: the provider, not the mailbox."""
    email = (email or "").strip()
    if not email:
        return None
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def mask_address(address: str | None) -> str | None:
    """昆明市官渡区关上街道 12 号 → 昆明市官渡区****: the region, not the street."""
    address = (address or "").strip()
    return address[:6] + "****" if address else None
