-- The SIGHUP daemon of hup_daemon.pl in Lua with luaposix (lua-posix):
-- posix.signal.signal installs its handler without SA_RESTART, and
-- posix.unistd.read returns nil, "Interrupted system call" when a signal
-- arrives while it blocks.
local signal = require "posix.signal"
local unistd = require "posix.unistd"

local reloads = 0
signal.signal(signal.SIGHUP, function() reloads = reloads + 1 end)
io.stdout:setvbuf("line")
print("pid=" .. unistd.getpid())
while true do
  local buf, err = unistd.read(0, 4096)
  if not buf then
    io.stderr:write("read failed: ", err, "\n")
    os.exit(1)
  end
  if #buf == 0 then break end
  print("got=" .. buf:gsub("\n$", "") .. " reloads=" .. reloads)
end
print("done reloads=" .. reloads)
