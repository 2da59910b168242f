"""What a message carries besides its text, in a typed form both message views expose (`details`, `referral`).

A message's `content` is what an agent reads at a glance ("Order: 2 x SKU-1 — total 25.98 USD"); `details` keeps
the data itself, one shape per kind, told apart by `kind`:

    location        latitude, longitude, name, address, url
    contacts        the shared contact cards: name, phones, emails, organization
    sticker         animated, media_id, mime_type
    order           catalog_id, note, items (product_id, quantity, item_price, currency), total (amount, currency)
    button          the quick-reply button of a template the customer tapped: text, payload
    interactive     the reply button, list row or flow the customer answered: reply_type, id, title, description,
                    response (a flow's answers)
    system          a notice from WhatsApp: system_type (user_changed_number, user_changed_user_id, ...), body,
                    new_wa_id, new_user_id, previous_user_id
    request_welcome the customer opened the chat for the first time (a welcome message may answer)
    unsupported     what WhatsApp could not hand over: unsupported_type, error (code, title, details)

`referral` is the ad or post the customer came from (a Click to WhatsApp ad), on the message that followed the tap.
Both are written by the channel that received the message (threadline.channels.whatsapp.content) and stored as JSON
(migration 0033); a stored value that no longer fits its model is shown as null rather than failing the page.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError


class Location(BaseModel):
    kind: Literal["location"] = "location"
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ContactPhone(BaseModel):
    phone: str | None = None
    wa_id: str | None = Field(default=None, description="the number's WhatsApp id, when it has WhatsApp")
    type: str | None = Field(default=None, description="HOME, WORK, CELL, ...")


class ContactEmail(BaseModel):
    email: str | None = None
    type: str | None = None


class ContactCard(BaseModel):
    name: str | None = Field(default=None, description="the card's formatted name")
    phones: list[ContactPhone] = Field(default_factory=list)
    emails: list[ContactEmail] = Field(default_factory=list)
    organization: str | None = None


class SharedContacts(BaseModel):
    kind: Literal["contacts"] = "contacts"
    contacts: list[ContactCard] = Field(default_factory=list)


class Sticker(BaseModel):
    kind: Literal["sticker"] = "sticker"
    animated: bool = False
    media_id: str | None = Field(default=None, description="Meta's media id (the file is fetched with it)")
    mime_type: str | None = None


class OrderItem(BaseModel):
    product_id: str | None = Field(default=None, description="the catalog's retailer id (SKU) of the product")
    quantity: int | None = None
    item_price: float | None = Field(default=None, description="the price of one")
    currency: str | None = None


class OrderTotal(BaseModel):
    amount: float
    currency: str


class Order(BaseModel):
    kind: Literal["order"] = "order"
    catalog_id: str | None = None
    note: str | None = Field(default=None, description="the text the customer sent with the order")
    items: list[OrderItem] = Field(default_factory=list)
    total: OrderTotal | None = Field(
        default=None,
        description="the sum of quantity x item_price; null when an item lacks either, or currencies differ",
    )


class ButtonReply(BaseModel):
    kind: Literal["button"] = "button"
    text: str | None = Field(default=None, description="the button's label")
    payload: str | None = Field(default=None, description="what the template defined for the button")


class InteractiveReply(BaseModel):
    kind: Literal["interactive"] = "interactive"
    reply_type: str = Field(description="button_reply, list_reply or nfm_reply (a flow), as Meta names it")
    id: str | None = None
    title: str | None = Field(default=None, description="the button's or the row's title")
    description: str | None = Field(default=None, description="the list row's description")
    response: dict[str, Any] | None = Field(default=None, description="a flow's answers (its response_json)")


class SystemNotice(BaseModel):
    kind: Literal["system"] = "system"
    system_type: str | None = None
    body: str | None = None
    new_wa_id: str | None = None
    new_user_id: str | None = None
    previous_user_id: str | None = None


class RequestWelcome(BaseModel):
    kind: Literal["request_welcome"] = "request_welcome"


class PlatformError(BaseModel):
    code: int | None = None
    title: str | None = None
    details: str | None = None


class Unsupported(BaseModel):
    kind: Literal["unsupported"] = "unsupported"
    unsupported_type: str | None = Field(default=None, description="what the customer sent, as Meta names it")
    error: PlatformError | None = None


MessageDetails = Annotated[
    Location
    | SharedContacts
    | Sticker
    | Order
    | ButtonReply
    | InteractiveReply
    | SystemNotice
    | RequestWelcome
    | Unsupported,
    Field(discriminator="kind"),
]


class Referral(BaseModel):
    """The ad or post a customer came from (Meta's `referral`)."""

    source_type: str | None = Field(default=None, description="ad or post")
    source_id: str | None = None
    source_url: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = Field(default=None, description="image or video")
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = Field(default=None, description="the Click to WhatsApp click id")


_DETAILS: TypeAdapter[MessageDetails] = TypeAdapter(MessageDetails)


def stored_details(value: Any) -> MessageDetails | None:
    """A stored `details` value as its model; None when there is none or it no longer fits."""
    if value is None:
        return None
    try:
        return _DETAILS.validate_python(value)
    except ValidationError:
        return None


def stored_referral(value: Any) -> Referral | None:
    if value is None:
        return None
    try:
        return Referral.model_validate(value)
    except ValidationError:
        return None
