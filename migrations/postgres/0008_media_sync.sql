-- What a sync last saw of each file in its media source (FEATURES M3): the source's own checksum
-- (S3 ETag, Drive md5) and modification time. A file listed again with the same checksum (or the
-- same size and time) is unchanged, and its body is not read again. NULL: not known (indexed
-- before syncs, or the source does not say).
ALTER TABLE media_items ADD COLUMN source_checksum TEXT, ADD COLUMN source_modified TIMESTAMPTZ;
