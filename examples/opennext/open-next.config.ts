// OpenNext's default server wrapper: aws-lambda, which buffers the whole response and returns
// it as one API Gateway v2 / function URL result.
const config = {
  default: {
    override: {
      wrapper: "aws-lambda",
      converter: "aws-apigw-v2",
    },
  },
  // No image optimization here: without this OpenNext downloads sharp for that function.
  imageOptimization: { install: false },
};

export default config;
