// Umbrella header of the declaration component: the vocabulary, the node kinds and the
// built-in model families.
#pragma once

#include "dsl/fixed_string.hpp"
#include "dsl/graph.hpp"
#include "dsl/layers.hpp"
#include "dsl/model.hpp"
#include "dsl/models.hpp"
#include "dsl/tensor_spec.hpp"
