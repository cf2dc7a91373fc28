-- TLS for the local server: a private CA and a leaf it signs, so clients verify against ca.pem
-- rather than turning verification off.

local http_tls = require("http.tls")
local openssl_bignum = require("openssl.bignum")
local openssl_pkey = require("openssl.pkey")
local openssl_rand = require("openssl.rand")
local x509 = require("openssl.x509")
local x509_altname = require("openssl.x509.altname")
local x509_extension = require("openssl.x509.extension")
local x509_name = require("openssl.x509.name")

local function new_certificate(common_name, public_key, issuer)
  local certificate = x509.new()
  certificate:setVersion(3)
  certificate:setSerial(openssl_bignum.fromBinary(openssl_rand.bytes(16)))
  local subject = x509_name.new()
  subject:add("CN", common_name)
  certificate:setSubject(subject)
  certificate:setIssuer(issuer and issuer:getSubject() or subject)
  -- Backdated so that a client whose clock lags a little still accepts it.
  certificate:setLifetime(os.time() - 3600, os.time() + 30 * 86400)
  certificate:setPublicKey(public_key)
  return certificate
end

local function new_key_pair()
  -- EC keys: generating RSA ones would add a noticeable delay to every TLS server start.
  return openssl_pkey.new({ type = "EC", curve = "prime256v1" })
end

local function make_private_dir()
  local path = os.tmpname()
  -- os.tmpname reserved a unique name by creating a file there; a directory takes its place.
  os.remove(path)
  assert(os.execute("mkdir -m 700 '" .. path .. "'") == 0, "cannot create directory " .. path)
  return path
end

local function new_tls_context(self)
  local ca_key = new_key_pair()
  local ca = new_certificate("modelgates-server local CA", ca_key)
  ca:setBasicConstraints({ CA = true })
  ca:setBasicConstraintsCritical(true)
  ca:addExtension(x509_extension.new("keyUsage", "critical,keyCertSign,cRLSign"))
  ca:addExtension(x509_extension.new("subjectKeyIdentifier", "hash", { subject = ca }))
  ca:sign(ca_key)

  local leaf_key = new_key_pair()
  local leaf = new_certificate(self.options.tls_name or "localhost", leaf_key, ca)
  leaf:setBasicConstraints({ CA = false })
  local names = x509_altname.new()
  -- --tls-name: a certificate for that name only, which a client of the
  -- loopback address must refuse.
  if self.options.tls_name then
    names:add("DNS", self.options.tls_name)
  else
    names:add("IP", "127.0.0.1")
    names:add("IP", "::1")
    names:add("DNS", "localhost")
  end
  leaf:setSubjectAlt(names)
  leaf:addExtension(x509_extension.new("extendedKeyUsage", "serverAuth"))
  leaf:addExtension(x509_extension.new("authorityKeyIdentifier", "keyid:always", { issuer = ca }))
  leaf:sign(ca_key)

  self.tls_dir = make_private_dir()
  self.ca_file = self.tls_dir .. "/ca.pem"
  local file = assert(io.open(self.ca_file, "w"))
  assert(file:write(ca:toPEM()))
  assert(file:close())

  -- Without --http2, no ALPN callback: h2 is never offered, so every connection is the
  -- HTTP/1.1 the faults need. With it, h2 is chosen whenever the client offers it.
  local context = http_tls.new_server_context()
  if self.options.http2 then
    assert(context:setAlpnSelect(function(_, protocols)
      for _, protocol in ipairs(protocols) do
        if protocol == "h2" then
          return protocol
        end
      end
      return protocols[1]
    end))
  end
  assert(context:setPrivateKey(leaf_key))
  assert(context:setCertificate(leaf))
  return context
end

local function remove_tls_files(self)
  if self.ca_file then
    os.remove(self.ca_file)
  end
  if self.tls_dir then
    os.remove(self.tls_dir)
  end
end

return { new_context = new_tls_context, remove_files = remove_tls_files }
