// The upload anchor (the bench's own; ../shared/anchors has none): reads every request body to the
// end, counting bytes, then answers 200 with the count. lode's side is servers/lode-upload.lua.
//   node bench/servers/node-upload.js PORT
const http2 = require('http2');
const server = http2.createServer();
server.on('stream', (stream) => {
  let n = 0;
  stream.on('data', (chunk) => { n += chunk.length; });
  stream.on('end', () => {
    stream.respond({ 'content-type': 'text/plain; charset=utf-8', ':status': 200 });
    stream.end(String(n));
  });
});
server.listen(+process.argv[2] || 8006, '127.0.0.1');
