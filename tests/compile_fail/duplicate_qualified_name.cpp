// Rule: fully-qualified tensor names are unique across scopes: a tensor literally named
// "layers.0.x" collides with the first copy of the repeat "layers" holding a tensor "x".
// expect: model: two tensors have the same fully-qualified name
// expect: model_checks<[^{]*\{"broken"\}, [^{]*\{""\}, [^<]*tensor<[^{]*\{"layers.0.x"\}
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using broken =
    dsl::model<"broken", dsl::tensor<"layers.0.x", dsl::shape<4>>,
               dsl::repeat<"layers", 2, dsl::scope<"", dsl::tensor<"x", dsl::shape<4>>>>>;
static_assert(broken::parameter_count() > 0);
