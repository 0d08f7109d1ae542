// End-to-end specs wait on a real broker, database and cache: give them room.
jest.setTimeout(180000);
