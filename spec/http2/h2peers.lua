-- Raw HTTP/2 peers in Python (python3-h2's hyperframe/hpack) for the session-limit specs, run
-- with U.run("/usr/bin/python3", { "-c", P.NAME, port, ... }). Loaded with dofile.
local P = {}

-- P.FILL port nextra mode: SETTINGS exchange, then GET /big on stream 1 and no WINDOW_UPDATE,
-- so the server's response body stays queued; prints "DATA before n" once the windows are full,
-- then sends `nextra` GET /small requests (streams 3, 5, ...) in one write and prints the frames
-- that come back ("RST_STREAM id code", "GOAWAY code", "HEADERS id", "CLOSED"). With mode
-- "drain" it then opens the windows, reads stream 1 to its end ("BODY n END") and makes one more
-- request.
P.FILL = [==[
import socket, sys, time
from hyperframe.frame import SettingsFrame, HeadersFrame, WindowUpdateFrame
from hpack import Encoder
port, nextra, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(('127.0.0.1', port))
s.settimeout(20.0)
enc = Encoder()
def req(sid, path):
    h = HeadersFrame(sid)
    h.data = enc.encode([(':method', 'GET'), (':path', path), (':scheme', 'http'),
                         (':authority', 'x')])
    h.flags.add('END_HEADERS'); h.flags.add('END_STREAM')
    return h.serialize()
pending = b''
# Frames until until(frame) holds (that frame included) or the connection closes ('CLOSED').
def read_frames(until):
    global pending
    got = []
    end = time.time() + 20
    while time.time() < end:
        while len(pending) >= 9:
            length = int.from_bytes(pending[0:3], 'big')
            if len(pending) < 9 + length: break
            sid = int.from_bytes(pending[5:9], 'big') & 0x7fffffff
            f = (pending[3], pending[4], sid, pending[9:9+length])
            pending = pending[9+length:]
            got.append(f)
            if until(f): return got
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            chunk = b''
        if not chunk:
            got.append(('CLOSED', 0, 0, b'')); return got
        pending += chunk
    return got
def show(frames):
    for t, fl, sid, p in frames:
        if t == 3: print('RST_STREAM', sid, int.from_bytes(p[0:4], 'big'))
        elif t == 7: print('GOAWAY', int.from_bytes(p[4:8], 'big'))
        elif t == 1: print('HEADERS', sid)
        elif t == 'CLOSED': print('CLOSED')
s.sendall(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + SettingsFrame(0).serialize())
read_frames(lambda f: f[0] == 4 and not (f[1] & 1))
s.sendall(SettingsFrame(0, flags=['ACK']).serialize() + req(1, '/big'))
# The body fills the 65535-byte windows, then stalls.
data = 0
def filled(f):
    global data
    if f[0] == 0 and f[2] == 1: data += len(f[3])
    return data >= 65535
read_frames(filled)
print('DATA before', data)
sid = 3
out = b''
for k in range(nextra):
    out += req(sid, '/small'); sid += 2
s.sendall(out)
# Each new stream gets a response or a reset (or the connection ends).
seen = set()
def answered(f):
    if f[0] in (1, 3) and f[2] >= 3: seen.add(f[2])
    return len(seen) == nextra
show(read_frames(answered) if nextra else [])
if mode == 'drain':
    s.sendall(WindowUpdateFrame(0, window_increment=2**31 - 1 - 65535).serialize()
              + WindowUpdateFrame(1, window_increment=2**31 - 1 - 65535).serialize())
    got = read_frames(lambda f: f[0] == 0 and f[2] == 1 and (f[1] & 1))
    data += sum(len(p) for t, fl, i, p in got if t == 0 and i == 1)
    print('BODY', data, 'END' if any(t == 0 and i == 1 and (fl & 1) for t, fl, i, p in got) else 'NOEND')
    s.sendall(req(sid, '/small'))
    show(read_frames(lambda f: f[0] == 1))
]==]

-- P.RESET port n: SETTINGS exchange, then n pairs HEADERS(GET, END_STREAM) + RST_STREAM(CANCEL)
-- and a PING in one write; prints "RST_STREAM id code" and "GOAWAY last_id code" for what comes
-- back before the PING's answer.
P.RESET = [==[
import socket, sys, time
from hyperframe.frame import Frame, SettingsFrame, HeadersFrame, RstStreamFrame, PingFrame
from hpack import Encoder
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(('127.0.0.1', port))
enc = Encoder()
s.sendall(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + SettingsFrame(0).serialize())
buf = b''
s.settimeout(2.0)
def frames(buf):
    i = 0
    while i + 9 <= len(buf):
        length = int.from_bytes(buf[i:i+3], 'big')
        if i + 9 + length > len(buf): break
        yield buf[i+3], buf[i+4], int.from_bytes(buf[i+5:i+9], 'big') & 0x7fffffff, buf[i+9:i+9+length]
        i += 9 + length
while not any(t == 4 and not (fl & 1) for t, fl, _, _ in frames(buf)):
    buf += s.recv(65536)
out = SettingsFrame(0, flags=['ACK']).serialize()
for k in range(n):
    sid = 1 + 2 * k
    h = HeadersFrame(sid)
    h.data = enc.encode([(':method', 'GET'), (':path', '/'), (':scheme', 'http'), (':authority', 'x')])
    h.flags.add('END_HEADERS'); h.flags.add('END_STREAM')
    out += h.serialize() + RstStreamFrame(sid, error_code=8).serialize()
s.sendall(out + PingFrame(0, opaque_data=b'lastping').serialize())
end = time.time() + 20
s.settimeout(20.0)
try:
    while time.time() < end:
        if any(t == 6 and (fl & 1) for t, fl, _, _ in frames(buf)): break
        chunk = s.recv(65536)
        if not chunk: break
        buf += chunk
except (socket.timeout, ConnectionResetError):
    pass
names = {0: 'DATA', 1: 'HEADERS', 3: 'RST_STREAM', 7: 'GOAWAY'}
for t, fl, sid, payload in frames(buf):
    if t == 3: print('RST_STREAM', sid, int.from_bytes(payload[0:4], 'big'))
    elif t == 7: print('GOAWAY', int.from_bytes(payload[0:4], 'big') & 0x7fffffff,
                       int.from_bytes(payload[4:8], 'big'))
    elif t in (0, 1): print(names[t], sid)
]==]

return P
