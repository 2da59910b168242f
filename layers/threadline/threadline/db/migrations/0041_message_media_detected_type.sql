-- What the stored bytes are, by their magic numbers (threadline.domain.media.sniff), beside the type the provider
-- claimed: a browser is only let to show a medium inline when the two agree on a type that is safe to render
-- (never SVG or HTML); anything else is served as a download. NULL: not recognised (a download too).
ALTER TABLE message_media ADD COLUMN detected_mime_type text;
