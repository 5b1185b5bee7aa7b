"""The server: listening sockets, admission, deadlines, the output scheduler and the statistics,
wired together by ``chat_server.ChatServer``."""
