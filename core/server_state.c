/* The storage of core/server_state.h's flags (zero: healthy, as after start-up). */
#include "core/server_state.h"

_Atomic bool rw_server_hc_failed_flag;
