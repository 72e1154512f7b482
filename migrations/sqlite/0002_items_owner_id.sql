-- A user's items by id: the keyset order in which user responses (which embed every item)
-- are streamed in chunks, so that memory per request does not grow with the data.
CREATE INDEX items_owner_id ON items (owner_id, id);
