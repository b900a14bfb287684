// The public interface of Tessera's IR library: what other folders include.
#pragma once

#include "ir/Function.h"
#include "ir/Module.h"
#include "ir/Op.h"
#include "ir/Status.h"
#include "ir/Tensor.h"
#include "ir/Type.h"
