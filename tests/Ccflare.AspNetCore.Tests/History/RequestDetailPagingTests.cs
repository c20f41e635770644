using System.Net;
using System.Text;
using System.Text.Json;
using Ccflare.Management;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.History;

/// <summary>
/// Stored bodies longer than <c>Ccflare:MaxStoredPayloadBytes</c> are cut with a marker and the row says so
/// (<c>request.truncated</c>, <c>response.truncated</c>), on every store; <c>/api/requests/detail</c> pages with
/// <c>offset</c>, caps each page's bodies at <c>maxBytes</c> and says in its headers where the next page starts.
/// </summary>
public sealed class RequestDetailPagingTests
{
    private const int StoredCap = 4096;

    private static Task<CcflareTestHost> StartAsync(string store, string directory) => CcflareTestHost.StartAsync(
        configure: o => o.MaxStoredPayloadBytes = StoredCap,
        build: b =>
        {
            switch (store)
            {
                case "sqlite":
                    b.UseSqliteStorage(Path.Combine(directory, "ccflare.db"));
                    break;
                case "litedb":
                    b.UseLiteDbStorage(Path.Combine(directory, "ccflare.litedb"));
                    break;
            }
        });

    private static async Task SendAsync(CcflareTestHost host, int fillerBytes, int n)
    {
        var filler = new string('x', fillerBytes);
        using var content = new StringContent(
            $$"""{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"n{{n}} {{filler}}"}]}""", Encoding.UTF8, "application/json");
        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<(JsonElement[] Rows, HttpResponseMessage Response)> DetailAsync(CcflareTestHost host, string query)
    {
        var response = await host.Client.GetAsync("/api/requests/detail" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray(), response);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private static string RequestText(JsonElement row) => Encoding.UTF8.GetString(Convert.FromBase64String(row.GetProperty("request").GetProperty("body").GetString()!));

    [Theory]
    [InlineData("memory")]
    [InlineData("sqlite")]
    [InlineData("litedb")]
    public async Task A_cut_body_is_flagged_and_the_detail_pages_cover_every_row_once(string store)
    {
        var directory = Directory.CreateTempSubdirectory("ccflare-detail-paging-");
        try
        {
            await using var upstream = await FakeUpstream.StartAsync();
            await using var host = await StartAsync(store, directory.FullName);
            await host.AddAccountAsync("anthropic-1", "anthropic", "sk-ant-account-secret-0001", upstream.BaseUrl);

            // Oldest first: 0 to 6; the even ones are larger than the stored cap.
            for (var n = 0; n < 7; n++)
            {
                await SendAsync(host, n % 2 == 0 ? 3 * StoredCap : 100, n);
            }
            await host.DrainHistoryAsync();

            // The default call keeps ccflare's shape: a bare array, newest first, with the flag beside the body.
            var (all, first) = await DetailAsync(host, "");
            Assert.Equal(7, all.Length);
            Assert.Null(Header(first, RequestEndpoints.NextOffsetHeader));
            Assert.Null(Header(first, RequestEndpoints.PageCutHeader));
            foreach (var row in all)
            {
                var text = RequestText(row);
                var n = int.Parse(text[(text.IndexOf("\"n", StringComparison.Ordinal) + 2)..text.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
                var cut = row.GetProperty("request").GetProperty("truncated").GetBoolean();
                Assert.Equal(n % 2 == 0, cut);
                if (cut)
                {
                    Assert.EndsWith("more bytes not stored]", text);
                    Assert.InRange(Encoding.UTF8.GetByteCount(text), StoredCap, StoredCap + 100);
                }
                Assert.False(row.GetProperty("response").GetProperty("truncated").GetBoolean());
            }

            // limit and offset walk the same order without gaps or repeats.
            var ids = new List<string>();
            var offset = "0";
            while (offset is not null)
            {
                var (page, response) = await DetailAsync(host, "?limit=3&offset=" + offset);
                ids.AddRange(page.Select(r => r.GetProperty("id").GetString()!));
                offset = Header(response, RequestEndpoints.NextOffsetHeader);
                Assert.Null(Header(response, RequestEndpoints.PageCutHeader));
                response.Dispose();
            }
            Assert.Equal(all.Select(r => r.GetProperty("id").GetString()), ids);

            // maxBytes ends a page early: only whole rows, the first always, and the headers say so.
            var (capped, cappedResponse) = await DetailAsync(host, $"?limit=7&maxBytes={StoredCap + 2048}");
            Assert.Equal(all.Take(capped.Length).Select(r => r.GetProperty("id").GetString()), capped.Select(r => r.GetProperty("id").GetString()));
            Assert.InRange(capped.Length, 1, 2);
            Assert.Equal("true", Header(cappedResponse, RequestEndpoints.PageCutHeader));
            Assert.Equal(capped.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(cappedResponse, RequestEndpoints.NextOffsetHeader));
            cappedResponse.Dispose();

            var (beyond, beyondResponse) = await DetailAsync(host, "?offset=50");
            Assert.Empty(beyond);
            Assert.Null(Header(beyondResponse, RequestEndpoints.NextOffsetHeader));
            beyondResponse.Dispose();
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("?offset=-1", "offset")]
    [InlineData("?offset=abc", "offset")]
    [InlineData("?offset=100001", "offset")]
    [InlineData("?maxBytes=10", "maxBytes")]
    [InlineData("?maxBytes=99999999999", "maxBytes")]
    public async Task Bad_paging_parameters_get_a_json_400_naming_the_parameter(string query, string parameter)
    {
        await using var host = await CcflareTestHost.StartAsync();
        using var response = await host.Client.GetAsync("/api/requests/detail" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(parameter, json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
