// OpenNext's streaming server wrapper: aws-lambda-streaming, for a function URL with
// InvokeMode RESPONSE_STREAM. It writes the function URL prelude itself.
const config = {
  default: {
    override: {
      wrapper: "aws-lambda-streaming",
      converter: "aws-apigw-v2",
    },
  },
  // No image optimization here: without this OpenNext downloads sharp for that function.
  imageOptimization: { install: false },
};

export default config;
