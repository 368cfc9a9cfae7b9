{
  "targets": [
    {
      "target_name": "ucspi",
      "sources": ["native/addon.cc", "native/launch.cc", "native/sys.cc", "native/accept.cc", "native/udp.cc", "native/exec.cc",
                  "native/proxy.cc", "native/rotate.cc", "native/startup.cc",
                  "native/users.cc", "native/client.cc", "native/tls.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"]
    },
    {
      "target_name": "ucspi-launcher",
      "type": "executable",
      "sources": ["native/launcher.c"],
      "cflags": ["-O2"]
    }
  ]
}
