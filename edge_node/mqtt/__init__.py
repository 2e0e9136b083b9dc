"""Everything on the wire: topics, the client link, commands, discovery, the embedded broker."""
