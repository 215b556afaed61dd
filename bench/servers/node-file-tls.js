// The file-over-TLS anchor (the bench's own; ../shared/anchors has none): node-file.js's
// respondWithFile over node-tls.js's createSecureServer. Serves ./www; key.pem/cert.pem in the
// working folder. lode's side is servers/lode-file-tls.lua.
//   node bench/servers/node-file-tls.js PORT
const http2 = require('http2'); const fs = require('fs');
const server = http2.createSecureServer({key: fs.readFileSync('key.pem'), cert: fs.readFileSync('cert.pem')});
server.on('stream', (stream, headers) => {
  stream.respondWithFile('www' + headers[':path'], { 'content-type': 'application/octet-stream' });
});
server.listen(+process.argv[2] || 8007, '127.0.0.1');
