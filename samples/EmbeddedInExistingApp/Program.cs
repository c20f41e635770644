using EmbeddedInExistingApp;

var app = ShopApp.Build(args);
await app.RunAsync();
