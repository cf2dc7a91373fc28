-- A content handler of spec/hosts/nginx_cosocket.conf: lists the keys of
-- the server at ?url= (?transport= picks the transport) and says how many,
-- or the error.
local modelgates = require("modelgates")
local client = modelgates.new({ server_url = ngx.var.arg_url, retries = false, transport = ngx.var.arg_transport })
local ok, body = pcall(client.keys.list)
ngx.say(ok and ("keys " .. #body.data) or (body.name .. ": " .. body.message))
