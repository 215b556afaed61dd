-- The class system every lode object is built on (lua-http / luvit style).
--
--   local Object = require "lode.class"
--   local Animal = Object:extend("Animal")
--   function Animal:constructor(name) self.name = name end
--   local Dog = Animal:extend("Dog")
--   function Dog:constructor(name) Animal.constructor(self, name); self.sound = "woof" end
--   local d = Dog.new("rex")        -- or Dog("rex")
--
-- Instances have their class as metatable, so metamethods (__tostring, __close, ...) defined on
-- a class work on its instances. Computed properties, read-only ones included, are declared with
-- Class:getter(name, fn) and Class:setter(name, fn); a class only pays for a function __index
-- once it (or an ancestor) declares one.

local Object = { __name = "Object" }
Object.__index = Object

local function class_call(cls, ...) return cls.new(...) end

local function install_index(cls)
  local getters, setters = cls._getters, cls._setters
  cls.__index = function(obj, k)
    local g = getters[k]
    if g then return g(obj) end
    return cls[k]
  end
  cls.__newindex = function(obj, k, v)
    local s = setters[k]
    if s then return s(obj, v) end
    if getters[k] then
      error(string.format("Cannot set property %s of %s which has only a getter", tostring(k), cls.__name), 2)
    end
    rawset(obj, k, v)
  end
end

function Object.constructor() end

function Object:extend(name)
  local parent = self
  local cls = {}
  -- Metamethods are looked up raw on the metatable, so they are copied, not inherited.
  for k, v in pairs(parent) do
    if type(k) == "string" and k:sub(1, 2) == "__" and k ~= "__index" and k ~= "__newindex" then
      cls[k] = v
    end
  end
  cls.__name = name or parent.__name
  cls.super = parent
  cls.__index = cls
  cls.new = function(...)
    local obj = setmetatable({}, cls)
    obj:constructor(...)
    return obj
  end
  setmetatable(cls, { __index = parent, __call = class_call, __name = cls.__name })
  if rawget(parent, "_getters") then
    cls._getters = setmetatable({}, { __index = parent._getters })
    cls._setters = setmetatable({}, { __index = parent._setters })
    install_index(cls)
  end
  return cls
end

local function ensure_accessors(cls)
  if not rawget(cls, "_getters") then
    local pg, ps = cls._getters, cls._setters
    rawset(cls, "_getters", setmetatable({}, pg and { __index = pg } or nil))
    rawset(cls, "_setters", setmetatable({}, ps and { __index = ps } or nil))
    install_index(cls)
  end
end

function Object:getter(name, fn)
  ensure_accessors(self)
  self._getters[name] = fn
end

function Object:setter(name, fn)
  ensure_accessors(self)
  self._setters[name] = fn
end

-- Whether obj is an instance of cls or of one of its subclasses.
function Object.instanceof(obj, cls)
  local mt = getmetatable(obj)
  -- A protected metatable (__metatable) may be any value; only tables can be classes.
  while type(mt) == "table" do
    if mt == cls then return true end
    mt = rawget(mt, "super")
  end
  return false
end

Object.new = function(...)
  local obj = setmetatable({}, Object)
  obj:constructor(...)
  return obj
end
setmetatable(Object, { __call = class_call })

return Object
