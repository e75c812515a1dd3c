# FerretDB v1.24's SQLite backend looks documents up by `_ferretdb_sjson->'$._id'` while it
# indexes `_ferretdb_sjson->"_id"`: the same value, but SQLite matches an index by the
# expression's text, so every find, update and delete by _id scanned the whole table. Written
# as the index is, the lookups use the unique _id index (EXPLAIN QUERY PLAN: SEARCH … USING
# INDEX … __id_). Found and checked on 2 Dec 2026.
s|IDColumn = DefaultColumn + "->'\$\._id'"|IDColumn = DefaultColumn + "->\\"_id\\""|
