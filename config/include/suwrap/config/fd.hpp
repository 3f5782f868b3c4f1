// SPDX-License-Identifier: Apache-2.0
// The descriptor owner under its former name, for suwrap/run.cpp alone until it includes
// suwrap/util/fd.hpp; nothing else includes this header.
#pragma once

#include "suwrap/util/fd.hpp"

namespace suwrap::policy {

using util::Fd;

}  // namespace suwrap::policy
