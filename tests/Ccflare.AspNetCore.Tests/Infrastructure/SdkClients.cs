using System.ClientModel;
using Anthropic;
using OpenAI;

namespace Ccflare.Tests.Infrastructure;

/// <summary>The official SDK clients, pointed at a Ccflare host.</summary>
public static class SdkClients
{
    public static AnthropicClient Anthropic(string baseUrl, string apiKey = "client-side-key") =>
        new() { BaseUrl = baseUrl, ApiKey = apiKey, MaxRetries = 0 };

    public static OpenAIClient OpenAI(string baseUrl, string apiKey = "client-side-key") =>
        new(new ApiKeyCredential(apiKey), new OpenAIClientOptions { Endpoint = new Uri(baseUrl), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });
}
