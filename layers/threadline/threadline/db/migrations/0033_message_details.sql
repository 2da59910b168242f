-- What a message carries besides its text, for both message views (threadline.models.message_details):
-- `details` the typed data of its kind (a location, shared contact cards, an order, the button or list row a
-- customer answered, a sticker, a WhatsApp notice, what WhatsApp could not hand over), `referral` the ad or post
-- the customer came from, and whether it was forwarded (WhatsApp's `context.forwarded` / `frequently_forwarded`).
-- Meta's raw object stays in `payload`, as before. New columns with constant defaults: no table rewrite.
ALTER TABLE messages
    ADD COLUMN details jsonb CHECK (jsonb_typeof(details) = 'object'),
    ADD COLUMN referral jsonb CHECK (jsonb_typeof(referral) = 'object'),
    ADD COLUMN forwarded boolean NOT NULL DEFAULT false,
    ADD COLUMN frequently_forwarded boolean NOT NULL DEFAULT false;
