using Ccflare;
using Ccflare.OpenApi;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Ccflare's OpenAPI document.</summary>
    public static class CcflareOpenApiExtensions
    {
        /// <summary>
        /// Adds an OpenAPI document (ASP.NET Core's OpenAPI support) describing Ccflare's management API,
        /// <c>/health</c> and the proxy routes (as passthrough), and has <c>MapCcflare</c> serve it at
        /// <c>{prefix}/openapi/{documentName}.json</c> under the management API's access rules
        /// (<see cref="CcflareEndpoints.OpenApi"/>). Leave it out when the application has OpenAPI documents of its
        /// own: Ccflare's endpoints and their schemas then appear in those, unless excluded with
        /// <c>ExcludeFromDescription()</c> on the groups <c>MapCcflare</c> returns.
        /// </summary>
        public static ICcflareBuilder AddOpenApiDocument(this ICcflareBuilder builder, string documentName = "v1")
        {
            ArgumentNullException.ThrowIfNull(builder);
            ArgumentException.ThrowIfNullOrWhiteSpace(documentName);

            builder.Services.AddOpenApi(documentName, options =>
            {
                options.ShouldInclude = static description => description.ActionDescriptor.EndpointMetadata.OfType<OperationDescription>().Any();
                options.AddDocumentTransformer<CcflareDocumentTransformer>();
                // A property left out when null (JsonIgnore WhenWritingNull) is not required, whatever the constructor says.
                options.AddSchemaTransformer(static (schema, context, _) =>
                {
                    foreach (var property in context.JsonTypeInfo.Properties)
                    {
                        if (property.ShouldSerialize is not null)
                        {
                            schema.Required?.Remove(property.Name);
                        }
                    }
                    return Task.CompletedTask;
                });
                options.AddOperationTransformer(static async (operation, context, cancellationToken) =>
                {
                    var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                    CcflareDocumentTransformer.AddQueryParameters(operation, metadata);
                    if (metadata.OfType<OperationDescription>().FirstOrDefault()?.Request is { } request)
                    {
                        var schema = await context.GetOrCreateSchemaAsync(request, null, cancellationToken).ConfigureAwait(false);
                        operation.RequestBody = new OpenApiRequestBody
                        {
                            Required = true,
                            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new OpenApiMediaType { Schema = schema } },
                        };
                    }
                });
            });
            builder.Services.AddSingleton(new CcflareOpenApiDocument(documentName));
            return builder;
        }
    }
}

namespace Ccflare.OpenApi
{
    /// <summary>Registered once per <c>AddOpenApiDocument</c> call; <c>MapCcflare</c> maps the document route when there is one.</summary>
    internal sealed record CcflareOpenApiDocument(string Name);

    /// <summary>Marks the proxy's endpoints, which the document lists as passthrough (or, for the compatibility routes, translating) operations.</summary>
    internal sealed record PassthroughRoute;

    /// <summary>Titles the document and adds the proxy routes, which have no handler signature to describe.</summary>
    internal sealed class CcflareDocumentTransformer(EndpointDataSource endpoints) : IOpenApiDocumentTransformer
    {
        public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
        {
            document.Info.Title = "Ccflare";
            document.Info.Description =
                "Management API of a Ccflare gateway (accounts, configuration, request history, analytics, logs, users, OAuth sign-in) " +
                "and its proxy routes, which pass requests through to the providers unchanged apart from credentials.";
            document.Paths ??= [];
            foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
            {
                if (endpoint.Metadata.GetMetadata<PassthroughRoute>() is null || endpoint.RoutePattern.RawText is not { } pattern)
                {
                    continue;
                }
                var path = pattern.Replace("{**rest}", "{path}", StringComparison.Ordinal);
                if (document.Paths.ContainsKey(path))
                {
                    continue;
                }
                // The native route takes the provider from the path; the compatibility routes name their schema instead.
                var translating = !pattern.Contains("{provider}", StringComparison.Ordinal);
                var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["POST", "GET"];
                var item = new OpenApiPathItem { Operations = [] };
                foreach (var method in methods)
                {
                    item.Operations[HttpMethod.Parse(method)] = translating ? Translating(path) : Passthrough(path);
                }
                document.Paths[path] = item;
            }
            return Task.CompletedTask;
        }

        private static OpenApiOperation Passthrough(string path) => new()
        {
            Summary = "Passthrough to the provider's API",
            Description =
                "Forwarded unchanged (body, query, streaming) to `{path}` of the provider's upstream through one of the provider's " +
                "accounts, whose credential replaces the client's. The request and response are the provider's own " +
                "(Anthropic Messages, OpenAI Chat Completions or Responses, ...); when every account is rate limited the answer is " +
                "the last upstream error. `{path}` may contain slashes.",
            Parameters =
            [
                PathParameter("provider", "anthropic, openai, claude-code or codex"),
                PathParameter("path", "the provider API path, for example v1/messages"),
            ],
            RequestBody = AnyBody("The provider's request body, forwarded as is."),
            Responses = new OpenApiResponses { ["default"] = new OpenApiResponse { Description = "The provider's response, streamed back as is." } },
        };

        private static OpenApiOperation Translating(string path) => new()
        {
            Summary = "Compatibility route: one schema, any provider family",
            Description =
                $"`{path}` takes its schema's request (Anthropic Messages, OpenAI Chat Completions or Responses) with a model named " +
                "`family/model` and answers in the same schema, translated to and from the family's provider (streams included).",
            RequestBody = AnyBody("A request in the route's schema."),
            Responses = new OpenApiResponses { ["default"] = new OpenApiResponse { Description = "The answer in the route's schema." } },
        };

        private static OpenApiParameter PathParameter(string name, string description) => new()
        {
            Name = name,
            In = ParameterLocation.Path,
            Required = true,
            Description = description,
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        };

        private static OpenApiRequestBody AnyBody(string description) => new()
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new OpenApiMediaType { Schema = new OpenApiSchema() } },
        };

        /// <summary>The query parameters a management handler reads itself.</summary>
        public static void AddQueryParameters(OpenApiOperation operation, IList<object> metadata)
        {
            if (metadata.OfType<OperationDescription>().FirstOrDefault()?.Query is not { Count: > 0 } query)
            {
                return;
            }
            operation.Parameters ??= [];
            foreach (var parameter in query)
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = parameter.Name,
                    In = ParameterLocation.Query,
                    Description = parameter.Description,
                    Schema = new OpenApiSchema { Type = parameter.Name == "limit" ? JsonSchemaType.Integer : JsonSchemaType.String },
                });
            }
        }
    }
}
